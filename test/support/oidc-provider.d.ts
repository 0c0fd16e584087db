/** oidc-provider ships no types; tests use it loosely (as a real upstream AS peer). */
declare module "oidc-provider" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type AnyFn = (...args: any[]) => any;
  interface ProviderInstance {
    callback(): AnyFn;
    on(event: string, listener: AnyFn): void;
    use(middleware: AnyFn): void;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    [key: string]: any;
  }
  interface ProviderClass {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    new (issuer: string, configuration?: Record<string, any>): ProviderInstance;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    errors: Record<string, new (...args: any[]) => Error>;
  }
  const Provider: ProviderClass;
  type Provider = ProviderInstance;
  export default Provider;
}
