/**
 * What an experiment is asked for (ExperimentOptions, built from the data flags by
 * cli-support.ts), and the option combinations refused before any data is read.
 * experiment.ts turns valid options into data; these checks are kept apart from it because
 * they need no data, and say which flags to fix rather than failing later in the
 * partitioner or splitter with a less useful message.
 */
import type { ColumnMapping } from '@finsecure/common/data';
import type { PartitionScheme } from '@finsecure/common/partition';
import { schemeNeedsAlpha } from '@finsecure/common/partition';

/** How the shared test set is chosen: at random by class, the latest rows, or given as its own file. */
export type SplitKind = 'stratified' | 'time' | 'given';

export interface ExperimentOptions {
  /** CSV file (Kaggle, handbook or FinSecure layout; .gz allowed). Exclusive with `synthetic`. */
  data?: string;
  /** Generate this many synthetic Kaggle-like rows in memory instead of reading `data`. */
  synthetic?: number;
  /**
   * A given split (with `test`, exclusive with `data` and `synthetic`): these rows are
   * partitioned among the banks, `test` is the shared test set, and no split is made
   * (`split` must then be 'given'), so a published train/test protocol is reproduced exactly.
   */
  train?: string;
  /** The shared test set of a given split (with `train`). */
  test?: string;
  /** Fraud rate of synthetic data. Default 0.01. */
  fraudRate?: number;
  /** How to read the CSV: a built-in layout, or a column mapping (datasets/README.md). */
  layout?: 'auto' | 'kaggle' | 'handbook' | ColumnMapping;
  seed: number;
  banks: number;
  scheme: PartitionScheme;
  /** Dirichlet / quantity / natural-skew concentration. */
  alpha?: number;
  split: SplitKind;
  /** Fraction of rows held out as the shared test set. Default 0.2. */
  testFraction?: number;
  /** Fraud rows guaranteed per bank. Default 1. */
  minFraudPerBank?: number;
  /** Called while the CSV loads (rows read, bytes read, total bytes). */
  onLoadProgress?: (rows: number, bytes: number, total: number) => void;
}

/** An experiment the options or the data cannot support; the CLI reports it as bad input (exit 2). */
export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

/** Validates option combinations that the partitioner or splitter would reject later with a less useful message. */
export function checkExperimentOptions(o: ExperimentOptions): void {
  const given = o.train !== undefined || o.test !== undefined;
  if (given && (o.data !== undefined || o.synthetic !== undefined)) {
    throw new ExperimentError(
      '--train/--test give the split themselves: use either --train <csv> --test <csv>, or --data <csv>, or --synthetic <rows>',
    );
  }
  if (given && (o.train === undefined || o.test === undefined)) {
    throw new ExperimentError(
      `--${o.train === undefined ? 'test' : 'train'} needs --${o.train === undefined ? 'train' : 'test'}: give both files of the split`,
    );
  }
  if (given && o.split !== 'given') {
    throw new ExperimentError(`--split ${o.split} cannot be combined with --train/--test (the test set is given)`);
  }
  if (!given && o.split === 'given') {
    throw new ExperimentError('a given split needs --train <csv> and --test <csv>');
  }
  if (!given && (o.data === undefined) === (o.synthetic === undefined)) {
    throw new ExperimentError('give exactly one of --data <csv>, --synthetic <rows>, or --train <csv> --test <csv>');
  }
  if (!Number.isInteger(o.banks) || o.banks < 1)
    throw new ExperimentError(`--banks must be an integer ≥ 1, got ${o.banks}`);
  if (schemeNeedsAlpha(o.scheme) && !(o.alpha !== undefined && o.alpha > 0)) {
    throw new ExperimentError(`--scheme ${o.scheme} needs --alpha > 0`);
  }
  const tf = o.testFraction ?? 0.2;
  if (!(tf > 0 && tf < 1)) throw new ExperimentError(`--test-fraction must be in (0, 1), got ${tf}`);
}
