import { LabIcon } from '@jupyterlab/ui-components';

import tltSvg from '../style/icons/tlt.svg';

/** The sidebar's tab icon: stacked layers, recoloured by the theme (class jp-icon3). */
export const tltIcon = new LabIcon({ name: 'jupyter-tlt:tlt', svgstr: tltSvg });
