// How paths read in a narrow sidebar: the distinguishing end of a name, and where long names may wrap.
// Pure functions, no DOM.

/**
 * For each path, its shortest tail of `/`-separated parts that no other path ends with ("…/" in
 * front when cut), so that notebooks/tutorial_a/runs and notebooks/tutorial_b/runs read as
 * "…/tutorial_a/runs" and "…/tutorial_b/runs" rather than "notebooks/tutoria…" twice.
 */
export function distinguishingNames(paths: readonly string[]): Map<string, string> {
  const split = new Map(paths.map(path => [path, path.split('/').filter(part => part !== '')]));
  const tails = (parts: string[], n: number) => parts.slice(Math.max(0, parts.length - n)).join('/');
  const counts = (n: number) => {
    const seen = new Map<string, number>();
    for (const parts of split.values()) {
      const tail = tails(parts, n);
      seen.set(tail, (seen.get(tail) ?? 0) + 1);
    }
    return seen;
  };
  const result = new Map<string, string>();
  const longest = Math.max(0, ...[...split.values()].map(parts => parts.length));
  const byLength: Map<string, number>[] = [];
  for (const [path, parts] of split) {
    let n = 1;
    while (n < parts.length) {
      byLength[n] ??= counts(n);
      if ((byLength[n].get(tails(parts, n)) ?? 0) <= 1) {
        break;
      }
      n += 1;
    }
    n = Math.min(n, Math.max(parts.length, 1), longest);
    result.set(path, n < parts.length ? `…/${tails(parts, n)}` : parts.join('/'));
  }
  return result;
}

/**
 * A file name cut into pieces after each separator (`/ _ . -`), so that a view can offer a line
 * break there and never mid-word: "model_epoch_007.keras" -> ["model_", "epoch_", "007.", "keras"].
 */
export function wrapPieces(name: string): string[] {
  const pieces = name.match(/[^/_.-]*[/_.-]+|[^/_.-]+$/g);
  return pieces ?? [name];
}

/** How a lineage step reads in the history. */
export function stepLabel(step: string): string {
  const labels: Record<string, string> = {
    registry: 'pretrained (registry)',
    model: 'model',
    train: 'trained',
    prune: 'pruned',
    export: 'exported'
  };
  return labels[step] ?? step;
}

/** A lineage as the history shows it: newest first, a training that started from a pruned model "retrained". */
export function historyRows<T extends { step: string }>(nodes: readonly T[]): { node: T; label: string }[] {
  return nodes
    .map((node, i) => ({
      node,
      label: node.step === 'train' && nodes[i - 1]?.step === 'prune' ? 'retrained' : stepLabel(node.step)
    }))
    .reverse();
}
