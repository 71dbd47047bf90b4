/**
 * Extra placement strategies `best` tries after TFLite's two, for the cases where neither reaches the
 * lower bound. All use the best-fit gap rule of placement.ts and differ in the order buffers are placed:
 * - `greedy-area`: by decreasing size × lifetime (long, large buffers first);
 * - `greedy-life`: by decreasing lifetime, then size (the long-lived spine first);
 * - `greedy-first`: by first step, largest first within a step (a linear scan through time);
 * - `promote`: a local search from the by-size order: place, take a buffer that reaches the arena's top,
 *   move it to the front of the order and place again; keep the move when the arena shrinks, otherwise
 *   try the next top buffer. Stops at the lower bound, after a fixed number of rounds, or when no top
 *   buffer helps. Each round is one placement, O(b² log b).
 */
import type { Liveness } from './liveness.ts';
import { type Block, arenaSize, bySizeSequence, placeInOrder } from './placement.ts';
import type { Strategy } from './planners.ts';

const life = (b: Block) => b.last - b.first + 1;

function sorted(blocks: readonly Block[], cmp: (a: Block, b: Block) => number): number[] {
  return blocks.map((_, i) => i).sort((a, b) => cmp(blocks[a], blocks[b]) || a - b);
}

/** Rounds of the `promote` local search. */
const PROMOTE_ROUNDS = 32;

/** Local search by promoting top buffers (see the module header). */
function promote(blocks: readonly Block[], align: number, live: Liveness): number[] {
  let sequence = bySizeSequence(blocks);
  let offsets = placeInOrder(blocks, align, sequence);
  let peak = arenaSize(blocks, offsets);
  const tried = new Set<string>();
  for (let round = 0; round < PROMOTE_ROUNDS && peak > live.lowerBound; round++) {
    const tops = blocks.map((_, i) => i).filter((i) => offsets[i] + blocks[i].size === peak);
    let improved = false;
    for (const top of tops) {
      // Move the top buffer, and the ones that pushed it up (placed before it, overlapping it in time
      // and in bytes below it), to the front in turn.
      const before = sequence.indexOf(top);
      const blockers = sequence.slice(0, before).filter((j) => blocks[j].first <= blocks[top].last
        && blocks[top].first <= blocks[j].last && offsets[j] < offsets[top]);
      for (const moved of [top, ...blockers.reverse()]) {
        const next = [moved, ...sequence.filter((j) => j !== moved)];
        const key = next.join(',');
        if (tried.has(key)) continue;
        tried.add(key);
        const o = placeInOrder(blocks, align, next);
        const p = arenaSize(blocks, o);
        if (p < peak) { sequence = next; offsets = o; peak = p; improved = true; break; }
      }
      if (improved) break;
    }
    if (!improved) break;
  }
  return offsets;
}

/** The strategies beyond greedy-size and greedy-breadth, in the order `best` tries them. */
export function improveStrategies(): Strategy[] {
  return [
    { name: 'greedy-area', place: (b, a) => placeInOrder(b, a, sorted(b, (x, y) => y.size * life(y) - x.size * life(x) || y.size - x.size)) },
    { name: 'greedy-life', place: (b, a) => placeInOrder(b, a, sorted(b, (x, y) => life(y) - life(x) || y.size - x.size)) },
    { name: 'greedy-first', place: (b, a) => placeInOrder(b, a, sorted(b, (x, y) => x.first - y.first || y.size - x.size)) },
    { name: 'promote', place: promote },
  ];
}
