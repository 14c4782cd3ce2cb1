import type { ProviderId } from '../kyc/types.js';
import type { ProviderAdapter } from './provider-adapter.js';

export interface ProviderRegistry {
  get(id: ProviderId): ProviderAdapter;
  find(id: string): ProviderAdapter | undefined;
  ids(): ProviderId[];
}

export function createProviderRegistry(adapters: readonly ProviderAdapter[]): ProviderRegistry {
  const byId = new Map<string, ProviderAdapter>(adapters.map((a) => [a.id, a]));
  return {
    get(id) {
      const a = byId.get(id);
      if (!a) throw new Error(`provider ${id} is not configured`);
      return a;
    },
    find: (id) => byId.get(id),
    ids: () => [...byId.keys()] as ProviderId[],
  };
}
