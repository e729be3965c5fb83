import type * as Api from '@opentelemetry/api';
import type { MqttDriverClient } from '../../driver/index.js';

/** Prefix of the metrics that are ours rather than the messaging semantic conventions'. */
export const METRIC_PREFIX = 'nest_mqtt_async';

/** Bucket boundaries (seconds) for messaging durations, as the semantic conventions advise. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export interface Instruments {
  readonly sent: Api.Counter;
  readonly consumed: Api.Counter;
  readonly processDuration: Api.Histogram;
  readonly operationDuration: Api.Histogram;
  readonly awaitingAck: Api.UpDownCounter;
  readonly deadLetters: Api.Counter;
  /** Failed handler tries that are tried again (retry option). */
  readonly retries: Api.Counter;
  readonly requestTimeouts: Api.Counter;
  readonly reconnects: Api.Counter;
  /** Reports `client`'s connection state (1 connected, 0 not) and counts its reconnects. */
  watch(client: MqttDriverClient, role: 'server' | 'client'): void;
}

/** The instruments of one meter; all attributes are low-cardinality (handler patterns, not topics). */
export function instruments(meter: Api.Meter): Instruments {
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
  const watched = new Set<{ client: MqttDriverClient; role: string }>();
  const state = meter.createObservableGauge(`${METRIC_PREFIX}.connection.state`, {
    description: '1 while the transport is connected to the broker, else 0',
  });
  state.addCallback((result) => {
    for (const w of watched) {
      if (w.client.status === 'closed') watched.delete(w);
      result.observe(w.client.status === 'connected' ? 1 : 0, {
        'messaging.system': 'mqtt',
        'nest_mqtt_async.role': w.role,
        'messaging.client.id': w.client.clientId,
      });
    }
  });
  const reconnects = meter.createCounter(`${METRIC_PREFIX}.reconnects`, {
    description: 'Reconnect attempts after a lost connection',
  });
  return {
    sent: meter.createCounter('messaging.client.sent.messages', { unit: '{message}' }),
    consumed: meter.createCounter('messaging.client.consumed.messages', { unit: '{message}' }),
    processDuration: meter.createHistogram('messaging.process.duration', seconds),
    operationDuration: meter.createHistogram('messaging.client.operation.duration', seconds),
    awaitingAck: meter.createUpDownCounter(`${METRIC_PREFIX}.messages.awaiting_ack`, {
      unit: '{message}',
      description: 'Received messages whose handling and acknowledgement are not finished',
    }),
    deadLetters: meter.createCounter(`${METRIC_PREFIX}.dead_letters`, { unit: '{message}' }),
    retries: meter.createCounter(`${METRIC_PREFIX}.retries`, { unit: '{attempt}' }),
    requestTimeouts: meter.createCounter(`${METRIC_PREFIX}.request.timeouts`, {
      description: 'send() calls that got no final reply within requestTimeout',
    }),
    reconnects,
    watch(client, role) {
      watched.add({ client, role });
      client.on('reconnecting', () => reconnects.add(1, { 'messaging.system': 'mqtt', 'nest_mqtt_async.role': role }));
    },
  };
}
