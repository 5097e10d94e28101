/**
 * Decodes one whole RESP2 reply that respguard must read itself (the upstream's COMMAND and
 * CLUSTER SLOTS replies), with redis-parser. The data path never decodes replies: it frames them and
 * forwards the bytes. redis-parser has no RESP3, which is why RESP3 replies are only framed.
 */
import RedisParser from 'redis-parser';

export class UpstreamReplyError extends Error {}

/** Decodes `bytes`, which must hold exactly one RESP2 reply; throws UpstreamReplyError for an error reply. */
export function decodeResp2(bytes: Buffer): unknown {
  let value: unknown;
  let error: Error | undefined;
  let replies = 0;
  const parser = new RedisParser({
    returnReply(reply: unknown) {
      value = reply;
      replies += 1;
    },
    returnError(replyError: Error) {
      error = replyError;
      replies += 1;
    },
    returnFatalError(fatal: Error) {
      error = fatal;
    },
  });
  parser.execute(bytes);
  if (error) throw new UpstreamReplyError(error.message);
  if (replies !== 1) throw new UpstreamReplyError(`expected one reply, decoded ${replies}`);
  return value;
}
