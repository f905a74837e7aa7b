/** The version handshake between this panel and the server extension (one source: Python). */

/**
 * What to tell the user when the panel and the server extension differ, or null when they match.
 */
export function versionMismatch(frontend: string, server: string | null): string | null {
  if (server === null) {
    return (
      'The mlops-nb server extension did not answer. Install it in the environment that runs ' +
      `Jupyter: pip install "mlops-nb==${frontend}", then restart JupyterLab.`
    );
  }
  if (server === frontend) {
    return null;
  }
  return (
    `The MLOps panel is version ${frontend} but the mlops-nb server extension is ${server}. ` +
    `Install matching versions: pip install "mlops-nb==${server}" (and rebuild/reload JupyterLab), ` +
    'then reload this page.'
  );
}
