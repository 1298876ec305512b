import type { IncomingMessage, ServerResponse } from 'node:http';
import { teeNodeResponse, type PlatformDialect } from './platform-dialect.js';

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
  // `res.send()` and `res.json()` end through `res.end()` too.
  captureWrites: (response, onText, includeEnd) =>
    teeNodeResponse(response as ServerResponse, onText, includeEnd),
};
