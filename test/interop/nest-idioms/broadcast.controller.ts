import { Controller, Get, Inject } from '@nestjs/common';
import { type ClientProxy, MessagePattern } from '@nestjs/microservices';
import { Observable, scan, take } from 'rxjs';
import { MATH_CLIENT } from './math.controller.js';

/** Reply streams the handler started and those that were unsubscribed (by close()). */
export const streams = { started: 0, ended: 0 };

/**
 * The behaviour of Nest's MQTT broadcast controller: every connected microservice answers `{ cmd: 'broadcast' }`
 * with a stream that never completes; the caller sums the first two answers.
 */
@Controller()
export class BroadcastController {
  constructor(@Inject(MATH_CLIENT) private readonly client: ClientProxy) {}

  @Get('broadcast')
  broadcast(): Observable<number> {
    return this.client.send<number>({ cmd: 'broadcast' }, {}).pipe(
      scan((a, b) => a + b),
      take(2),
    );
  }

  @MessagePattern({ cmd: 'broadcast' })
  replyBroadcast(): Observable<number> {
    return new Observable<number>((observer) => {
      streams.started++;
      observer.next(1);
      return () => {
        streams.ended++;
      };
    });
  }
}
