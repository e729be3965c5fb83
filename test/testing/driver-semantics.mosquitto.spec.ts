import { describeMosquitto } from '../support/mosquitto.js';
import { mosquittoDriverWorld, runDriverSemantics } from './driver-semantics.js';

describeMosquitto('broker semantics on mosquitto (the reference for the in-memory broker)', () =>
  runDriverSemantics(mosquittoDriverWorld),
);
