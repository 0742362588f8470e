package dev.postern.receive;

import dev.postern.config.Config;
import dev.postern.message.DkimKeyring;
import dev.postern.message.DkimKeys;
import dev.postern.policy.Dmarc;
import dev.postern.policy.DmarcReports;
import dev.postern.policy.SpfResults;

/** What message authentication shares between sessions, wired once at start-up. */
public record AuthServices(Config.Auth settings, SpfResults spf, Dmarc dmarc, DkimKeys.Resolver keys,
                           DkimKeyring signing, DmarcReports reports) {}
