import { describeMosquitto } from '../../support/mosquitto.js';
import { runScenarios } from './suite.js';
import { mosquittoWorld } from './world.js';

describeMosquitto('transport scenarios on mosquitto', () => runScenarios(mosquittoWorld));
