/**
 * A repository whose pooled sandboxes keep failing before they are ready (a clone that fails, a
 * broken OpenCode config) is not retried in a tight loop: after each failure in a row the next
 * try waits twice as long (5 s up to 10 min); a sandbox that got ready clears it.
 */
const FIRST_MS = 5_000;
const MAX_MS = 10 * 60_000;

export class RepoBackoff {
  private readonly until = new Map<number, { failures: number; at: number }>();

  failed(repositoryId: number, now = Date.now()): void {
    const failures = (this.until.get(repositoryId)?.failures ?? 0) + 1;
    this.until.set(repositoryId, { failures, at: now + Math.min(MAX_MS, FIRST_MS * 2 ** (failures - 1)) });
  }

  mayTry(repositoryId: number, now = Date.now()): boolean {
    const entry = this.until.get(repositoryId);
    return !entry || now >= entry.at;
  }

  cleared(repositoryId: number): void {
    this.until.delete(repositoryId);
  }
}
