/**
 * One runtime per configuration: createRuntime compiles the configuration once, and the injector, the validator and
 * the explainer it returns share that compilation (they used to compile it four times per load).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import { settingsCompilations } from '../../src/inject/settings.js';
import { createRuntime } from '../../src/server/runtime.js';
import { createValidator } from '../../src/validate/index.js';

describe('createRuntime', () => {
  it('compiles the configuration once for injector, validator and explainer', () => {
    const config = loadConfig({ sets: ['validation.mode=enforce'] });
    const before = settingsCompilations();
    const runtime = createRuntime(config);
    expect(settingsCompilations() - before).toBe(1);
    // All three work from it: a pod with a reserved port is injected, reported, and explained.
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ containerPort: 15021 }] }] } };
    expect(runtime.injector.inject({ pod: pod as never }).kind).toBe('injected');
    expect(runtime.validator.validate(pod).map((f) => f.code)).toContain('MW0101');
    expect(runtime.explainer!.explain(pod)?.decision.inject).toBe(true);
    expect(settingsCompilations() - before).toBe(1);
  });

  it('a validator on its own compiles once too; one given an injector compiles nothing', () => {
    const config = loadConfig({});
    const before = settingsCompilations();
    createValidator(config);
    expect(settingsCompilations() - before).toBe(1);
    const injector = createInjector(config);
    const afterInjector = settingsCompilations();
    createValidator(config, undefined, injector);
    expect(settingsCompilations()).toBe(afterInjector);
  });
});
