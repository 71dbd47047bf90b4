/**
 * kiln's display layer: every kiln object as a notebook MIME bundle (`toMimeBundle`) or as terminal
 * text (`toTerminal`), plus the view classes that mark what a value is (IR text, generated source,
 * steps, diffs, timings, memory plans, help) and the chart helpers. The Jupyter kernel and the REPL
 * both render through here, so a command's result looks the same in both, modulo the medium.
 */
export { toMimeBundle, toTerminal, isGraph, isGraphDiff, type SelfDisplaying } from './render.ts';
export type { MimeBundle, TerminalOptions } from './style.ts';
export { escapeHTML, stripAnsi, fitLine } from './style.ts';
export {
  IRView, SourceView, TextView, DiffView, StepView, PipelineView, CheckView, RunView, MemoryView, HelpView,
  type DiffViewOptions, type PipelineItem, type HelpEntry,
} from './views.ts';
export { arrowStreamBase64, tableHTML, tableTerminal } from './table.ts';
export { tokenizeIR, highlightIRAnsi, highlightIRHTML } from './ir.ts';
export { barChartSVG, textBars, escapeXML, type Bar, type BarChartOptions } from './svg.ts';
export { timingChartSVG, opBars } from './timing.ts';
export { rooflineSVG, rooflinePoints, type RooflinePoint, type Roof, type RooflineOptions } from './roofline.ts';
export { stepLine, isStep } from './session.ts';
export { isMemoryPlan } from './memory.ts';
