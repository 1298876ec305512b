import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PlatformDialect } from './platform-dialect.js';

/** Express's request and response are the Node ones, extended. */
export const expressDialect: PlatformDialect = {
  rawRequest: (request) => request as IncomingMessage,
  rawResponse: (response) => response as ServerResponse,
  // Express cuts a mount path off `url`; `originalUrl` keeps it.
  requestUrl: (request) => {
    const { originalUrl, url } = request as IncomingMessage & {
      originalUrl?: string;
    };
    return originalUrl ?? url ?? '';
  },
  // A plain app.use(): after the body parsers Nest registers first, before
  // the routes; no path to match.
  beforeRoutes: (adapter, handler) => adapter.use(handler),
};
