/**
 * A bank's operating threshold, chosen from its own validation scores and labels by a
 * target an analyst understands (maximum false-positive rate, minimum precision, or
 * alerts per day), with the precision, recall, FPR and alerts/day it implies and the PR
 * curve for a chart. Never a silent 0.5: there is no default target. Pure.
 */
export { sweepOperatingPoints, operatingPointAt, thinCurve, type OperatingPoint, type Sweep } from './curve.js';
export {
  chooseThreshold,
  ThresholdUnreachableError,
  type ThresholdTarget,
  type ChooseThresholdOptions,
  type OperatingThreshold,
} from './choose.js';
