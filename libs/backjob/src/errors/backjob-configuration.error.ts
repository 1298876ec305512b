/** Thrown at boot when the module's options cannot work together. */
export class BackJobConfigurationError extends Error {
  override name = 'BackJobConfigurationError';
}
