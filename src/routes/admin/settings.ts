import { Router, type Request, type Response } from 'express';
import createError from 'http-errors';
import { settingGroups, type SettingKey } from '../../core/service/settings-admin.ts';
import { formatSetting, methods, settingRules, type PortalSettings } from '../../core/settings.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';

/** The form's fields for a setting: one, or one check box per method for the method list. */
const fieldsOf = (key: SettingKey): string[] =>
  settingRules[key].kind === 'methods' ? methods.map((m) => `${key}-${m}`) : [key];

/** The settings as the form shows them: text, `true`/`false`, lists comma-separated. */
const typedOf = (settings: PortalSettings, keys: readonly SettingKey[]) =>
  Object.fromEntries(keys.map((key) => [key, formatSetting(settings[key])]));

/**
 * A group's form as the core takes it: an unticked check box is not sent, so it is `false`, and
 * the method list is the methods ticked.
 */
function valuesOf(req: Request, keys: readonly SettingKey[]): Record<string, string> {
  const form = readForm(req.body, keys.flatMap(fieldsOf));
  const values: Record<string, string> = {};
  for (const key of keys) {
    const { kind } = settingRules[key];
    if (kind === 'flag') values[key] = form[key] === 'true' ? 'true' : 'false';
    else if (kind === 'methods') values[key] = methods.filter((m) => form[`${key}-${m}`]).join(',');
    else values[key] = form[key] ?? '';
  }
  return values;
}

/**
 * Each message names its setting, so that the error summary reads on its own, and links to the
 * first box of a group of choices, as the error summary links to a field.
 */
const labelled = (res: Response, errors: FieldError[]): FieldError[] =>
  errors.map((error) => {
    const key = error.field as SettingKey;
    const rule = settingRules[key];
    const first =
      rule.kind === 'methods' ? methods[0] : rule.kind === 'choice' ? rule.choices[0] : '';
    return {
      field: first ? `${key}-${first}` : key,
      message: error.message,
      values: { ...error.values, label: res.locals.t(`adminSettings.fields.${key}.label`) },
    };
  });

const groupOf = (id: string) => settingGroups.find((group) => group.id === id);

/** The confirmations the settings page may show after a save: `?done=saved`. */
const doneNotices = new Set(['saved', 'unchanged']);

/**
 * SPEC A3, §5: the portal settings and trusted IPs. The journey lets only a signed-in
 * administrator into /admin; every page and action here needs "manage settings" for every group
 * (settings reach every user), which the core checks: a refusal is the localised 403, and
 * nothing changes. The settings are read afresh for each page and are in force on every
 * instance within a second of a save (src/data/settings-repository.ts).
 */
export function adminSettingsRoutes(services: Services): Router {
  const { settingsAdmin } = services.mfa;
  const { config } = services;
  const router = Router();

  // Signed-in administrator with "manage settings" for every group.
  router.get('/admin/settings', async (req, res) => {
    const settings = await settingsAdmin.current(adminContextOf(res));
    const done = typeof req.query.done === 'string' ? req.query.done : '';
    res.render('pages/admin/settings/index', {
      settings,
      groups: settingGroups,
      rules: settingRules,
      notice: doneNotices.has(done) ? `adminSettings.done.${done}` : '',
      deployment: {
        portalUrl: config.PORTAL_URL,
        primaryAuthentication: config.PRIMARY_AUTHENTICATION,
        logDirectory: config.LOG_FILE_DIRECTORY,
      },
    });
  });

  async function renderTrustedIps(
    res: Response,
    status: number,
    view: { typed?: string; address?: string; errors?: FieldError[]; result?: string },
  ) {
    const settings = await settingsAdmin.current(adminContextOf(res));
    const done = res.req.query.done === 'saved' ? 'adminSettings.done.saved' : '';
    res.status(status).render('pages/admin/settings/trusted-ips', {
      typed: view.typed ?? settings.trustedIps.join('\n'),
      address: view.address ?? '',
      errors: view.errors ?? [],
      result: view.result ?? '',
      notice: done,
    });
  }

  // Signed-in administrator with "manage settings" for every group. The test box is this
  // page's GET form (`?address=`): it reads the saved list and writes nothing.
  router.get('/admin/settings/trusted-ips', async (req, res) => {
    const { address } = req.query;
    if (address !== undefined && typeof address !== 'string') throw createError(400, 'address');
    if (address === undefined) {
      await renderTrustedIps(res, 200, {});
      return;
    }
    const checked = await settingsAdmin.checkTrustedIp(adminContextOf(res), { address });
    if (checked.outcome === 'invalid') {
      const error = {
        field: 'address',
        message: 'adminSettings.trustedIps.errors.address',
        values: { v4: '192.0.2.10', v6: '2001:db8::1' },
      };
      await renderTrustedIps(res, 400, { address, errors: [error] });
      return;
    }
    const result = res.locals.t(`adminSettings.trustedIps.result.${checked.outcome}`, {
      address: checked.address,
    });
    await renderTrustedIps(res, 200, { address, result });
  });

  // Signed-in administrator with "manage settings" for every group.
  router.post('/admin/settings/trusted-ips', async (req, res) => {
    const form = readForm(req.body, ['trustedIps'] as const);
    const saved = await settingsAdmin.save(adminContextOf(res), {
      values: { trustedIps: form.trustedIps },
    });
    if (saved.outcome === 'invalid') {
      await renderTrustedIps(res, 400, {
        typed: form.trustedIps,
        errors: labelled(res, saved.errors),
      });
      return;
    }
    res.redirect(303, res.locals.url('/admin/settings/trusted-ips?done=saved'));
  });

  function renderGroup(
    res: Response,
    status: number,
    group: (typeof settingGroups)[number],
    typed: Record<string, string>,
    errors: FieldError[],
  ) {
    res.status(status).render('pages/admin/settings/group', {
      group,
      rules: settingRules,
      methods,
      typed,
      errors: labelled(res, errors),
    });
  }

  // Signed-in administrator with "manage settings" for every group.
  router.get('/admin/settings/:group', async (req, res) => {
    const group = groupOf(req.params.group);
    if (!group) throw createError(404);
    const settings = await settingsAdmin.current(adminContextOf(res));
    renderGroup(res, 200, group, typedOf(settings, group.keys), []);
  });

  // Signed-in administrator with "manage settings" for every group: the group's settings are
  // saved together or not at all.
  router.post('/admin/settings/:group', async (req, res) => {
    const group = groupOf(req.params.group);
    if (!group) throw createError(404);
    const values = valuesOf(req, group.keys);
    const saved = await settingsAdmin.save(adminContextOf(res), { values });
    if (saved.outcome === 'invalid') {
      renderGroup(res, 400, group, values, saved.errors);
      return;
    }
    const done = saved.changed.length > 0 ? 'saved' : 'unchanged';
    res.redirect(303, res.locals.url(`/admin/settings?done=${done}#${group.id}`));
  });

  return router;
}
