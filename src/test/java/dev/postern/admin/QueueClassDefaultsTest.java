package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.queue.QueueManager;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The class shares are written twice: in the configuration's defaults (what a server without [queue.classes]
 * runs with) and in the queue's (what a queue built without a configuration uses, as tests and tools do),
 * because the queue package does not depend on the configuration. They must not drift apart.
 */
class QueueClassDefaultsTest {
    @Test void aQueueBuiltWithoutAConfigurationUsesTheConfigurationsDefaultClasses() {
        assertThat(Server.classes(Config.QueueSettings.DEFAULT)).isEqualTo(QueueManager.ClassSettings.DEFAULTS);
    }
}
