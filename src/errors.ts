/**
 * Internal and configuration errors. Errors sent to clients copy Redis's reply texts and live
 * beside the code that sends them; these are the errors respguard itself raises, each with a
 * stable code that callers and tests branch on.
 */

export type RespguardErrorCode =
  | 'RG_ERR_CONFIG'
  | 'RG_ERR_ACL_RULE'
  | 'RG_ERR_USAGE'
  | 'RG_ERR_UPSTREAM'
  | 'RG_ERR_COMMAND_TABLE';

export class RespguardError extends Error {
  readonly code: RespguardErrorCode;

  constructor(code: RespguardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RespguardError';
    this.code = code;
  }
}
