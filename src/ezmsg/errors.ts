/**
 * Errors of the ezmsg GraphServer client. Every message starts with the source (which server,
 * which request) so a log line alone says where the problem came from.
 */

/** Base class: something went wrong talking to an ezmsg GraphServer. */
export class EzmsgClientError extends Error {
  constructor(
    /** What we were talking to / doing, e.g. "SESSION_SETTINGS_EVENTS(after_seq=3) on ezmsg://127.0.0.1:25978". */
    readonly source: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${problem}`, options);
    this.name = "EzmsgClientError";
  }
}

/** The server sent bytes we cannot accept: bad framing, an oversize frame, an undecodable pickle, a wrong shape. */
export class EzmsgProtocolError extends EzmsgClientError {
  constructor(source: string, problem: string, options?: { cause?: unknown }) {
    super(source, problem, options);
    this.name = "EzmsgProtocolError";
  }
}

/**
 * The connection failed or ended when we still needed bytes: refused, reset, closed by the
 * server mid-reply or mid-frame, or closed by us while a request was pending.
 */
export class EzmsgConnectionError extends EzmsgClientError {
  constructor(source: string, problem: string, options?: { cause?: unknown }) {
    super(source, problem, options);
    this.name = "EzmsgConnectionError";
  }
}

/** A connect or a request did not complete in time. The connection it used has been closed. */
export class EzmsgTimeoutError extends EzmsgClientError {
  constructor(source: string, problem: string) {
    super(source, problem);
    this.name = "EzmsgTimeoutError";
  }
}

/** The same error, re-attributed to a more precise source (e.g. the request that was waiting). */
export function relabelError(err: unknown, source: string): unknown {
  if (!(err instanceof EzmsgClientError) || err.source === source) return err;
  if (err instanceof EzmsgProtocolError) return new EzmsgProtocolError(source, err.problem, { cause: err });
  if (err instanceof EzmsgTimeoutError) return new EzmsgTimeoutError(source, err.problem);
  if (err instanceof EzmsgConnectionError) return new EzmsgConnectionError(source, err.problem, { cause: err });
  return new EzmsgClientError(source, err.problem, { cause: err });
}
