/** Productionize progress events → one line per step (state, time, message). Pure. */
import { ProductionizeEvent } from './api';
import { JobEvent } from './model/job';

export interface IStepLine {
  step: string;
  state: 'running' | 'done' | 'failed';
  message: string;
  /** seconds the step took (null while it runs) */
  seconds: number | null;
  /** info lines the step reported (dropped lines, build output), in order */
  infos: string[];
}

export function productionizeSteps(events: JobEvent[], jobEnded: boolean): IStepLine[] {
  const lines: IStepLine[] = [];
  const open = new Map<string, { line: IStepLine; started: number }>();
  for (const e of events) {
    if (e.event !== 'ProductionizeEvent') {
      continue;
    }
    const event = e as ProductionizeEvent;
    const current = open.get(event.step);
    if (event.status === 'start') {
      const line: IStepLine = { step: event.step, state: 'running', message: event.message, seconds: null, infos: [] };
      lines.push(line);
      open.set(event.step, { line, started: event.elapsed });
    } else if (event.status === 'info') {
      if (current) {
        current.line.infos.push(event.message);
      } else {
        const last = [...lines].reverse().find(l => l.step === event.step);
        if (last) {
          last.infos.push(event.message);
        } else {
          lines.push({ step: event.step, state: 'done', message: '', seconds: null, infos: [event.message] });
        }
      }
    } else if (current) {
      current.line.state = event.status === 'done' ? 'done' : 'failed';
      current.line.message = event.message;
      current.line.seconds = Math.max(0, event.elapsed - current.started);
      open.delete(event.step);
    }
  }
  if (jobEnded) {
    // a job that ended with a step still open: that step did not finish
    open.forEach(({ line }) => (line.state = 'failed'));
  }
  return lines;
}
