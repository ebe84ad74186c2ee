/** A training result of the default MLP (4,097 parameters) as the bank's update frames take it, no DP. */
import type { FitOutput } from '../../src/round-work.js';

export const fitOutput = {
  delta: new Float32Array(4097).fill(0.001),
  numExamples: 300,
  numTrained: 300,
  numSynthetic: 0,
  loss: 0.1,
  trainMs: 5,
  prepareMs: 1,
} as unknown as FitOutput;
