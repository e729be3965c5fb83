import { MqttError } from '../errors.js';

/** Allocates packet identifiers 1..65535, skipping those still in use. */
export class PacketIds {
  private next = 1;
  private readonly used = new Set<number>();

  allocate(): number {
    if (this.used.size >= 65535)
      throw new MqttError('All 65535 packet identifiers are in use: await some publishes or subscribes first');
    while (this.used.has(this.next)) this.next = (this.next % 65535) + 1;
    const id = this.next;
    this.used.add(id);
    this.next = (id % 65535) + 1;
    return id;
  }

  release(id: number): void {
    this.used.delete(id);
  }

  get inUse(): number {
    return this.used.size;
  }
}
