/** Optional packages a test depends on the absence (or presence) of, resolved as the built tools resolve them. */
import { createRequire } from 'node:module';

/** Whether `@tensorflow/tfjs-node` (the optional native backend) is installed in this tree. */
export function hasTfjsNode(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}
