import { describe, expect, it } from '@jest/globals';
import { NEVER, Observable, of } from 'rxjs';
import type { ReplyPacket } from '../../../lib/nest/server/replies.js';
import { settleObservable, streamReplies } from '../../../lib/nest/server/replies.js';

describe('close() and running Observables', () => {
  it('a reply stream is unsubscribed on abort and ends with a final "server is closing" error', async () => {
    const closing = new AbortController();
    const sent: ReplyPacket[] = [];
    let unsubscribed = false;
    const stream = new Observable<number>((o) => {
      o.next(1);
      return () => {
        unsubscribed = true;
      };
    });
    const done = streamReplies(
      stream,
      async (p) => void sent.push(p),
      () => undefined,
      closing.signal,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([{ kind: 'value', response: 1, final: false }]);
    closing.abort();
    await done;
    expect(unsubscribed).toBe(true);
    expect(sent[1]).toMatchObject({
      kind: 'error',
      err: { status: 'error', message: expect.stringMatching(/server is closing/) },
    });
  });

  it('a stream that completed before close is not touched by the abort', async () => {
    const closing = new AbortController();
    const sent: ReplyPacket[] = [];
    await streamReplies(
      of(7),
      async (p) => void sent.push(p),
      () => undefined,
      closing.signal,
    );
    closing.abort();
    expect(sent).toEqual([{ kind: 'value', response: 7, final: true }]);
  });

  it("an event handler's Observable is unsubscribed on abort and settles as 'closed'", async () => {
    const closing = new AbortController();
    const settled = settleObservable(NEVER, closing.signal);
    closing.abort();
    await expect(settled).resolves.toBe('closed');
    await expect(settleObservable(of(1), closing.signal)).resolves.toBeUndefined();
  });
});
