import { MqttError } from '../driver/errors.js';

/**
 * Base class of every error the Nest layer (`ServerMqttAsync`, `ClientMqttAsync`, the in-memory broker) throws.
 * It extends the driver's {@link MqttError}, so `err instanceof MqttError` catches every error of this package;
 * `reasonCode` is set where an MQTT reason code is behind the error.
 */
export class MqttAsyncError extends MqttError {}
