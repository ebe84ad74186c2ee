export * from './types.js';
export * from './params.js';
export { JobRunner } from './runner.js';
export { SegmentationJob } from './segmentation.js';
export { CalibrationJob, histogramThreshold } from './calibration.js';
