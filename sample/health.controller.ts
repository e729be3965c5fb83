import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { MqttAsyncHealthIndicator } from '../lib/nest/index.js';

/** Bound of each check: `/health` answers within about this long even when the broker is gone. */
export const HEALTH_TIMEOUT_MS = 1_000;

/**
 * `GET /health` (terminus): 200 with the broker round trip while the service's MQTT link works, 503 with the
 * reason when it does not. `mqtt` is a PINGREQ/PINGRESP; `mqtt-roundtrip` sends a request through the broker to the
 * service's own connection, so it also proves the broker routes the service's messages both ways.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mqtt: MqttAsyncHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.mqtt.isHealthy('mqtt', { timeout: HEALTH_TIMEOUT_MS }),
      () => this.mqtt.isHealthy('mqtt-roundtrip', { timeout: HEALTH_TIMEOUT_MS, roundTrip: 'topic' }),
    ]);
  }
}
