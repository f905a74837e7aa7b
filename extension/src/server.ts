/** The `IRequester` of a running JupyterLab: authenticated requests through ServerConnection. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, IRequester, IRequestOptions, queryString } from './api';

export class ServerRequester implements IRequester {
  constructor(private readonly settings = ServerConnection.makeSettings()) {}

  async request<T>(path: string, options: IRequestOptions = {}): Promise<T> {
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
    }
    const response = await this.send(path, options.params, init);
    const text = await response.text();
    let data: any = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: text };
    }
    if (!response.ok) {
      throw this.error(response, data);
    }
    return data as T;
  }

  async blob(path: string, params: Record<string, string>): Promise<Blob> {
    const response = await this.send(path, params, { method: 'GET' });
    if (!response.ok) {
      let data: any = {};
      try {
        data = await response.json();
      } catch {
        data = {};
      }
      throw this.error(response, data);
    }
    return response.blob();
  }

  private async send(path: string, params: Record<string, string> | undefined, init: RequestInit): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, 'mlops-nb', path) + queryString(params);
    try {
      return await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(0, `the Jupyter server did not answer: ${error}`);
    }
  }

  private error(response: Response, data: any): ApiError {
    const message =
      response.status === 404 && !data.message
        ? 'the mlops-nb server extension is not enabled: pip install mlops-nb and restart Jupyter'
        : data.message || response.statusText;
    return new ApiError(response.status, message, data);
  }
}
