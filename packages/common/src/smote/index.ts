/** SMOTE oversampling of the fraud class, for training splits only. */
export { smote, type SmoteOptions, type SmoteResult } from './smote.js';
export { nearestNeighbours } from './knn.js';
