/** The drift verdict of a running service, fetched through the server (no CORS). */
import { ApiError, IDrift, IRequester } from '../api';
import { Observable } from './observable';

export class DriftModel extends Observable {
  constructor(private readonly api: IRequester) {
    super();
  }

  url = '';
  result: IDrift | null = null;
  error: string | null = null;
  loading = false;

  setUrl(url: string): void {
    this.url = url;
    this.emit();
  }

  get driftedColumns(): string[] {
    if (!this.result) {
      return [];
    }
    return Object.entries(this.result.columns)
      .filter(([, c]) => c.drifted)
      .sort((a, b) => b[1].score - a[1].score)
      .map(([name]) => name);
  }

  async check(url: string = this.url): Promise<void> {
    this.url = url.trim();
    this.error = null;
    if (!this.url) {
      this.error = 'Enter the URL of a running service, e.g. http://127.0.0.1:8000';
      this.emit();
      return;
    }
    this.loading = true;
    this.emit();
    try {
      this.result = await this.api.request<IDrift>('drift', { params: { url: this.url } });
    } catch (error) {
      this.result = null;
      this.error = (error as ApiError).message ?? String(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }
}
