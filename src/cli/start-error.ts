/** A start-up failure with a message written for the operator: printed as it is, exit 1. */
export class StartError extends Error {
  override name = 'StartError';
}
