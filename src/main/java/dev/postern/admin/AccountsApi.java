package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.auth.UserStore;
import dev.postern.config.Config;
import dev.postern.deliver.MailboxOwner;
import dev.postern.deliver.MaildirWriter;
import dev.postern.mail.Address;

import java.io.IOException;
import java.util.Locale;
import java.util.Map;

/** Accounts in the admin API: list, add, change a password, remove; each in effect when the answer comes. */
final class AccountsApi {
    private final java.util.function.Supplier<Config> config;
    private final UserStore users;
    private final AdminEndpoint.IoAction reload;

    AccountsApi(java.util.function.Supplier<Config> config, UserStore users, AdminEndpoint.IoAction reload) {
        this.config = config;
        this.users = users;
        this.reload = reload;
    }

    void register(AdminHttp http) {
        // "postern user add|passwd|remove" change the accounts themselves (they work with no server running),
        // then wait for this, so an account works as soon as the command returns
        http.add("POST", "/users/reload", c -> {
            reload.run();
            c.respond(200, Map.of("result", "reloaded"));
        });
        http.add("GET", "/users", c -> {
            users.refreshIfChanged(); // what "postern user" changed meanwhile
            c.respond(200, Map.of("users", users.list().stream().sorted().toList()));
        });
        http.add("POST", "/users", c -> {
            JsonNode b = c.body();
            String address = b.path("address").asText(""), password = b.path("password").asText("");
            String bad = invalid(config.get(), address);
            if (bad != null || password.isEmpty()) {
                c.error(400, bad != null ? bad : "give a password");
                return;
            }
            users.refreshIfChanged();
            if (users.exists(address)) {
                c.error(409, address + " already exists");
                return;
            }
            users.put(address, password); // in effect when it returns: put re-reads the accounts
            String key = createMailbox(config.get(), address);
            AdminEndpoint.log.info("account {} added through the admin API", key);
            c.respond(201, Map.of("result", "added", "address", key));
        });
        http.add("POST", "/users/{address}/password", c -> {
            String address = c.param("address"), password = c.body().path("password").asText("");
            if (password.isEmpty()) {
                c.error(400, "give a password");
                return;
            }
            users.refreshIfChanged();
            if (!users.exists(address)) {
                c.error(404, "no such user " + address);
                return;
            }
            users.put(address, password);
            AdminEndpoint.log.info("password of {} changed through the admin API", address.toLowerCase(Locale.ROOT));
            c.respond(200, Map.of("result", "changed", "address", address.toLowerCase(Locale.ROOT)));
        });
        http.add("DELETE", "/users/{address}", c -> {
            String address = c.param("address");
            if (!users.remove(address)) { // on the accounts as stored, then read again
                c.error(404, "no such user " + address);
                return;
            }
            AdminEndpoint.log.info("account {} removed through the admin API (its mailbox stays)", address.toLowerCase(Locale.ROOT));
            c.respond(200, Map.of("result", "removed", "address", address.toLowerCase(Locale.ROOT)));
        });
    }

    /** Null if the address may be an account (valid, in a local domain, a plain local part), else the problem. */
    static String invalid(Config c, String address) {
        Address a = Address.parse(address, true);
        if (a == null) return "not a valid address: " + address;
        if (!c.isLocalDomain(a.domain())) return a.domain() + " is not a local domain (domains = " + c.domains() + ")";
        if (!a.localPart().matches("[A-Za-z0-9._+-]+")) return "use letters, digits and . _ + - in account names";
        return null;
    }

    /**
     * Makes the account's Maildir before the first mail, owned as the mail store runs, so a user who logs in
     * to IMAP first does not get directories made by the store that Postern cannot write. Returns the key.
     */
    static String createMailbox(Config c, String address) throws IOException {
        String key = address.toLowerCase(Locale.ROOT);
        String owner = c.recipients().mailboxOwner();
        MaildirWriter.createMaildir(c.mailboxesDir(), MaildirWriter.maildirOf(c.mailboxesDir(), key),
                owner == null ? null : MailboxOwner.parse(owner));
        return key;
    }
}
