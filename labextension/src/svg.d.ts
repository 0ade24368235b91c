// SVG files are bundled as strings (JupyterLab's builder loads them as source).
declare module '*.svg' {
  const svg: string;
  export default svg;
}
