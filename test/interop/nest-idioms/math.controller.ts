import { Body, Controller, HttpCode, Inject, Post, Query } from '@nestjs/common';
import {
  type ClientProxy,
  Ctx,
  EventPattern,
  MessagePattern,
  type MqttContext,
  MqttRecordBuilder,
  Payload,
} from '@nestjs/microservices';
import { from, lastValueFrom, type Observable, of, reduce } from 'rxjs';

/** Injection token of the client: the only thing a mode changes is the provider behind it. */
export const MATH_CLIENT = 'MATH_CLIENT';

/** Which events arrived (the upstream spec keeps static flags and sleeps; we wait on these). */
export const seenEvents = new Set<string>();

/** Events sent with a record: their data and the QoS they arrived at. */
export const recordEvents: Array<{ data: unknown; qos: number }> = [];

const total = (numbers: number[] | undefined) => (numbers ?? []).reduce((a, b) => a + b, 0);

/**
 * The behaviours of Nest's `integration/microservices` MQTT controller, written for our tests: an HTTP side that
 * calls through a `ClientProxy`, and the `@MessagePattern` / `@EventPattern` handlers it reaches. Plain Nest only
 * (no nest-mqtt-async imports), so the same class runs in every mode.
 */
@Controller()
export class MathController {
  constructor(@Inject(MATH_CLIENT) private readonly client: ClientProxy) {}

  // ---- HTTP side: what a Nest app does with its client ----

  @Post()
  @HttpCode(200)
  call(@Query('command') cmd: string, @Body() numbers: number[]): Observable<number> {
    return this.client.send<number>({ cmd }, numbers);
  }

  @Post('stream')
  @HttpCode(200)
  stream(@Body() numbers: number[]): Promise<number> {
    return lastValueFrom(this.client.send<number>({ cmd: 'streaming' }, numbers).pipe(reduce((sum, n) => sum + n, 0)));
  }

  @Post('concurrent')
  @HttpCode(200)
  async concurrent(@Body() batches: number[][]): Promise<boolean> {
    const answers = await Promise.all(
      batches.map((batch) => lastValueFrom(this.client.send<number>({ cmd: 'sum' }, batch))),
    );
    return answers.every((answer, i) => answer === total(batches[i]));
  }

  /** Fire-and-forget events, on the topics the upstream controller uses. */
  @Post('emit')
  emit(@Query('topic') topic: string): Observable<unknown> {
    return this.client.emit(topic, true);
  }

  /** Requests on plain string topics (wildcard and shared-wildcard handlers answer them). */
  @Post('send')
  send(@Query('topic') topic: string, @Body() numbers: number[]): Observable<number> {
    return this.client.send<number>(topic, numbers);
  }

  /** Nest's MqttRecordBuilder through `send()`: the handler answers with the QoS it received the request at. */
  @Post('record')
  @HttpCode(200)
  record(@Query('qos') qos: string, @Body() data: Record<string, unknown>): Observable<unknown> {
    const record = new MqttRecordBuilder(data).setQoS(Number(qos) as 0 | 1 | 2).build();
    return this.client.send('record-builder-duplex', record);
  }

  /** A QoS 1 request whose handler describes its `MqttContext` (the built-in client's default QoS is 0). */
  @Post('packet')
  packetRequest(): Observable<unknown> {
    return this.client.send('packet/p1', new MqttRecordBuilder([]).setQoS(1).build());
  }

  /** The same through `emit()`. */
  @Post('record-event')
  recordEvent(@Query('qos') qos: string, @Body() data: Record<string, unknown>): Observable<unknown> {
    return this.client.emit('record-event', new MqttRecordBuilder(data).setQoS(Number(qos) as 0 | 1 | 2).build());
  }

  /** MQTT 5 properties of a record: the handler answers with the user properties it received. */
  @Post('record-properties')
  @HttpCode(200)
  recordProperties(@Body() userProperties: Record<string, string>): Observable<unknown> {
    return this.client.send('record-properties', new MqttRecordBuilder({}).setProperties({ userProperties }).build());
  }

  // ---- microservice side ----

  @EventPattern<string>('record-event')
  onRecordEvent(@Payload() data: unknown, @Ctx() ctx: MqttContext) {
    recordEvents.push({ data, qos: ctx.getPacket().qos });
  }

  /** What handler code written for the built-in reads from `MqttContext`. */
  @MessagePattern('packet/+')
  packet(@Ctx() ctx: MqttContext) {
    const p = ctx.getPacket();
    return {
      topic: p.topic,
      ctxTopic: ctx.getTopic(),
      qos: p.qos,
      retain: p.retain,
      dup: p.dup,
      messageId: typeof p.messageId,
      payloadIsBuffer: Buffer.isBuffer(p.payload),
    };
  }

  @MessagePattern('record-properties')
  onRecordProperties(@Ctx() ctx: MqttContext) {
    return ctx.getPacket().properties?.userProperties ?? null;
  }

  @MessagePattern({ cmd: 'sum' })
  sum(numbers: number[]): number {
    return total(numbers);
  }

  @MessagePattern({ cmd: 'asyncSum' })
  async asyncSum(numbers: number[]): Promise<number> {
    return total(numbers);
  }

  @MessagePattern({ cmd: 'streamSum' })
  streamSum(numbers: number[]): Observable<number> {
    return of(total(numbers));
  }

  @MessagePattern({ cmd: 'streaming' })
  streaming(numbers: number[]): Observable<number> {
    return from(numbers);
  }

  @MessagePattern('record-builder-duplex')
  recordBuilderDuplex(@Payload() data: Record<string, unknown>, @Ctx() ctx: MqttContext) {
    return { data, qos: ctx.getPacket().qos };
  }

  @EventPattern('notification')
  notification(flag: boolean) {
    if (flag === true) seenEvents.add('notification');
  }

  @MessagePattern('wildcard-message/#')
  wildcardMessage(numbers: number[]): number | undefined {
    // The built-in server also receives its own replies here (`wildcard-message/test/reply` matches '#').
    if ((numbers as unknown as { response?: unknown }).response) return undefined;
    return total(numbers);
  }

  @EventPattern('wildcard-event/#')
  wildcardEvent(flag: boolean) {
    if (flag === true) seenEvents.add('wildcard-event/#');
  }

  @MessagePattern('wildcard-message2/+/test')
  wildcardMessage2(numbers: number[]): number {
    return total(numbers);
  }

  @EventPattern('wildcard-event2/+/test')
  wildcardEvent2(flag: boolean) {
    if (flag === true) seenEvents.add('wildcard-event2/+/test');
  }

  @MessagePattern('$share/test-group/shared-wildcard-message/#')
  sharedWildcardMessage(numbers: number[]): number | undefined {
    if ((numbers as unknown as { response?: unknown }).response) return undefined;
    return total(numbers);
  }

  @EventPattern('$share/test-group/shared-wildcard-event/#')
  sharedWildcardEvent(flag: boolean) {
    if (flag === true) seenEvents.add('$share/test-group/shared-wildcard-event/#');
  }

  @MessagePattern('$share/test-group/shared-wildcard-message2/+/test')
  sharedWildcardMessage2(numbers: number[]): number {
    return total(numbers);
  }

  @EventPattern('$share/test-group/shared-wildcard-event2/+/test')
  sharedWildcardEvent2(flag: boolean) {
    if (flag === true) seenEvents.add('$share/test-group/shared-wildcard-event2/+/test');
  }
}
