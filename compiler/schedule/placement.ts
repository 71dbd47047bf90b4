/**
 * Offset assignment: given buffers with sizes and live intervals (in steps), choose arena offsets so
 * that no two buffers live at the same step share a byte. Offsets are multiples of each buffer's own
 * alignment (`Block.align`, else the placement's); sizes are not padded (the arena ends at the largest
 * offset + size).
 *
 * Strategies (the first three are TFLite's):
 * - `placeNaive`: no reuse; buffers stacked in production order.
 * - `placeBySize` ("greedy by size"): buffers by decreasing size (ties: earlier first, longer life); each
 *   goes into the best-fitting gap (the smallest free range that holds it) among the already placed
 *   buffers whose lifetimes overlap its own, or on top of them when no gap fits.
 * - `placeByBreadth` ("greedy by breadth"): steps by decreasing breadth; at each step its still unplaced
 *   buffers, largest first, each into the best-fitting gap as above.
 * - `placeInOrder`: the same gap rule for any given buffer order (used with other sort keys by `best`).
 * A placement is O(b² log b) for b buffers: each buffer scans the placed ones overlapping it in time.
 */

/** A buffer to place. */
export interface Block {
  readonly size: number;
  readonly first: number;
  readonly last: number;
  /** Alignment this buffer needs (bytes); the placement's alignment when absent. */
  readonly align?: number;
}

/** x rounded up to a multiple of `align`. */
export function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}

/** The arena size of a placement: max offset + size (0 when empty). */
export function arenaSize(blocks: readonly Block[], offsets: readonly number[]): number {
  let peak = 0;
  blocks.forEach((b, i) => { peak = Math.max(peak, offsets[i] + b.size); });
  return peak;
}

/** No reuse: every buffer after the previous one, in the given order. */
export function placeNaive(blocks: readonly Block[], align: number): number[] {
  let top = 0;
  return blocks.map((b) => {
    const off = alignUp(top, b.align ?? align);
    top = off + b.size;
    return off;
  });
}

/**
 * The lowest offset of the smallest free gap that holds `b` among `placed` ranges [off, end) overlapping
 * it in time, or the aligned top of those ranges when none does.
 */
function bestFit(b: Block, placed: readonly { off: number; end: number; first: number; last: number }[], placementAlign: number): number {
  const align = b.align ?? placementAlign;
  const busy = placed.filter((p) => p.first <= b.last && b.first <= p.last).sort((x, y) => x.off - y.off);
  let cur = 0, best = -1, bestGap = Infinity;
  for (const p of busy) {
    if (p.off >= cur + b.size) {
      const gap = p.off - cur;
      if (gap < bestGap) { bestGap = gap; best = cur; }
    }
    cur = Math.max(cur, alignUp(p.end, align));
  }
  return best >= 0 ? best : cur;
}

/** Places buffers one by one in `sequence` (indices into blocks), each at its best-fitting gap. */
export function placeInOrder(blocks: readonly Block[], align: number, sequence: readonly number[]): number[] {
  const offsets = new Array<number>(blocks.length).fill(0);
  const placed: { off: number; end: number; first: number; last: number }[] = [];
  for (const i of sequence) {
    const b = blocks[i];
    const off = bestFit(b, placed, align);
    offsets[i] = off;
    placed.push({ off, end: off + b.size, first: b.first, last: b.last });
  }
  return offsets;
}

/** Indices of blocks sorted by decreasing size; ties by earlier first step, then longer life, then index. */
export function bySizeSequence(blocks: readonly Block[]): number[] {
  return blocks.map((_, i) => i).sort((a, b) =>
    blocks[b].size - blocks[a].size || blocks[a].first - blocks[b].first
    || (blocks[b].last - blocks[b].first) - (blocks[a].last - blocks[a].first) || a - b);
}

/** TFLite's greedy by size. */
export function placeBySize(blocks: readonly Block[], align: number): number[] {
  return placeInOrder(blocks, align, bySizeSequence(blocks));
}

/** The by-breadth sequence: steps by decreasing breadth, each step's unplaced blocks largest first. */
export function byBreadthSequence(blocks: readonly Block[], breadth: readonly number[]): number[] {
  const steps = breadth.map((_, s) => s).sort((a, b) => breadth[b] - breadth[a] || a - b);
  const liveAt: number[][] = breadth.map(() => []);
  blocks.forEach((b, i) => { for (let s = b.first; s <= b.last && s < liveAt.length; s++) liveAt[s].push(i); });
  const seen = new Uint8Array(blocks.length);
  const sequence: number[] = [];
  for (const s of steps) {
    const here = liveAt[s].filter((i) => !seen[i]).sort((a, b) => blocks[b].size - blocks[a].size || blocks[a].first - blocks[b].first || a - b);
    for (const i of here) { seen[i] = 1; sequence.push(i); }
  }
  blocks.forEach((_, i) => { if (!seen[i]) sequence.push(i); });
  return sequence;
}

/** TFLite's greedy by breadth. */
export function placeByBreadth(blocks: readonly Block[], align: number, breadth: readonly number[]): number[] {
  return placeInOrder(blocks, align, byBreadthSequence(blocks, breadth));
}
