import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { DocPath } from './problems';

/**
 * The line of the deepest node along `at` that exists in the YAML: the offending key or item, or
 * for a missing key the mapping that should hold it.
 */
export function lineOf(document: Document, lineCounter: LineCounter, at: DocPath): number | undefined {
  let node: unknown = document.contents;
  let line = lineAt(node, lineCounter);
  for (const segment of at) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      line = lineAt(pair.key, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      line = lineAt(node, lineCounter) ?? line;
    } else {
      break;
    }
  }
  return line;
}

function lineAt(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}
