import type { Connector } from '../../../../lib/driver/index.js';
import * as driver from '../../../../lib/driver/index.js';
import { mqttjsConnector } from './mqttjs-connector.js';

/** The driver's connect() once it exists, else the MQTT.js test bridge. */
export const testConnector: Connector = (driver as unknown as { connect?: Connector }).connect ?? mqttjsConnector;
