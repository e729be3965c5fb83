import { Injectable } from '@nestjs/common';

export interface Reading {
  deviceId: string;
  celsius: number;
  at: string;
}

/** The latest temperature per device, shared by the MQTT handler and the HTTP endpoint. */
@Injectable()
export class ReadingsService {
  private readonly latest = new Map<string, Reading>();

  record(deviceId: string, celsius: number): Reading {
    const reading = { deviceId, celsius, at: new Date().toISOString() };
    this.latest.set(deviceId, reading);
    return reading;
  }

  all(): Reading[] {
    return [...this.latest.values()];
  }
}
