import { runScenarios } from './suite.js';
import { memoryWorld } from './world.js';

runScenarios(memoryWorld);
