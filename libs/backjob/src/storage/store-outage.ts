/**
 * Whether a store or cache that failed has answered since: the first failure
 * of an outage is told, those after it are not, so that an outage logs one
 * warning, not one per call, per job or per second.
 */
export class StoreOutage {
  private ongoing = false;

  /** A call failed: runs `tell` unless this outage was told already. */
  failed(tell: () => void): void {
    if (!this.ongoing) tell();
    this.ongoing = true;
  }

  /** A call succeeded: true when that ends an outage. */
  ended(): boolean {
    const ended = this.ongoing;
    this.ongoing = false;
    return ended;
  }
}
