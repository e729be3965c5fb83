import { memoryDriverWorld, runDriverSemantics } from './driver-semantics.js';

runDriverSemantics(memoryDriverWorld);
