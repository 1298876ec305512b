/** A promise the scenario opens when it is ready: holds jobs inside their handler. */
export class Gate {
  private opened!: () => void;
  readonly passed = new Promise<void>((resolve) => (this.opened = resolve));

  open(): void {
    this.opened();
  }
}
