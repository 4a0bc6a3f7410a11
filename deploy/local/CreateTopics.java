// Creates Kafka topics in one JVM (TopicCommand creates one topic per JVM start, ~0.6 s each).
// Used by deploy/local/kafka create-topics, which compiles it into the jar cache when javac exists.
//
// usage: java -cp 'libs/*:classes' CreateTopics <bootstrap> <name>:<partitions>[:<replication>]...
// Prints "created <name>" or "exists <name>" per topic; exits 1 if any topic could not be created.

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

public final class CreateTopics {
    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2) {
            System.err.println("usage: CreateTopics <bootstrap> <name>:<partitions>[:<replication>]...");
            System.exit(2);
        }
        List<NewTopic> topics = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String[] f = args[i].split(":");
            if (f.length < 2 || f.length > 3) {
                System.err.println("bad topic spec: " + args[i]);
                System.exit(2);
            }
            short replication = f.length == 3 ? Short.parseShort(f[2]) : 1;
            topics.add(new NewTopic(f[0], Integer.parseInt(f[1]), replication));
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "prm-create-topics");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        int failed = 0;
        try (Admin admin = Admin.create(props)) {
            for (Map.Entry<String, KafkaFuture<Void>> e : admin.createTopics(topics).values().entrySet()) {
                try {
                    e.getValue().get();
                    System.out.println("created " + e.getKey());
                } catch (ExecutionException ex) {
                    if (ex.getCause() instanceof TopicExistsException) {
                        System.out.println("exists " + e.getKey());
                    } else {
                        System.err.println("error " + e.getKey() + ": " + ex.getCause());
                        failed++;
                    }
                }
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
