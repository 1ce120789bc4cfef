import 'reflect-metadata';
import { PATH_METADATA } from '@nestjs/common/constants';
import { AdminApiModule } from '../admin-api.module';
import { controllersOf } from '../../test/controllers-of';
import { ACCESS_KEY, type Access } from './roles';


describe('route access', () => {
  const routes = controllersOf(AdminApiModule).flatMap((controller) =>
    Object.getOwnPropertyNames(controller.prototype)
      .filter((name) => name !== 'constructor')
      .map((name) => ({ controller, name, handler: controller.prototype[name] as object }))
      .filter(({ handler }) => Reflect.getMetadata(PATH_METADATA, handler) !== undefined),
  );

  it('finds the routes', () => {
    expect(routes.map((r) => `${r.controller.name}.${r.name}`)).toEqual(
      expect.arrayContaining(['ProgramsController.create', 'CyclesController.start', 'CyclesController.get', 'HealthController.check']),
    );
  });

  it('declares on every route who may call it; only health, metrics and docs are public', () => {
    const undeclared = routes.filter(
      ({ controller, handler }) => !Reflect.getMetadata(ACCESS_KEY, handler) && !Reflect.getMetadata(ACCESS_KEY, controller),
    );
    expect(undeclared.map((r) => `${r.controller.name}.${r.name}`)).toEqual([]);
    const open = routes.filter(({ handler }) => 'public' in ((Reflect.getMetadata(ACCESS_KEY, handler) ?? {}) as Access));
    expect([...new Set(open.map((r) => r.controller.name))]).toEqual(['HealthController', 'MetricsController']);
  });
});
