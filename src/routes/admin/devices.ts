import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm } from '../form.ts';
import { detailsFor, userPath } from './user-pages.ts';

/**
 * SPEC A2 "deactivate devices and tokens": one mobile-app device or OATH token at a time, after
 * a confirmation page. The journey lets only a signed-in administrator into /admin; the core
 * checks "reset devices" for the user's group.
 */
export function adminDeviceRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();
  const path = '/admin/users/:id/devices/:deviceId/remove';

  async function deviceOf(res: Response) {
    const { account } = await detailsFor(administration, res, 'reset-devices');
    const device = account.devices.find((d) => d.id === res.req.params.deviceId);
    if (!device) throw createError(404, 'No such device');
    // The last method: without it the user sets up a new one at the next sign-in.
    const last = account.methods.every(
      (m) => m === device.kind && account.devices.filter((d) => d.kind === m).length === 1,
    );
    return { account, device, last };
  }

  // Signed-in administrator with "reset devices" for the user's group: the confirmation.
  router.get(path, async (_req, res) => {
    res.render('pages/admin/users/device-remove', await deviceOf(res));
  });

  // Signed-in administrator with "reset devices" for the user's group.
  router.post(path, async (req, res) => {
    readForm(req.body, []);
    const { account, device } = await deviceOf(res);
    await administration.removeDevice(adminContextOf(res), {
      userId: account.id,
      deviceId: device.id,
    });
    res.redirect(303, userPath(res, account.id, `${device.kind}-removed`));
  });

  return router;
}
