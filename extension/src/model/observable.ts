import { ISignal, Signal } from '@lumino/signaling';

/** A model part whose views re-render when `changed` fires. */
export class Observable {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  protected emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
}

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
