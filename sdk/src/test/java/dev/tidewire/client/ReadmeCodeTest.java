package dev.tidewire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's usage code is the code of the consumer example (docs/examples/consumer), which that
 * project compiles and runs against a reference server; so the README cannot drift from a program
 * that works. Paths are relative to this module's directory, surefire's working directory.
 */
class ReadmeCodeTest {
    private static final Path ROOT = Path.of("..");
    private static final Path CONSUMER = ROOT.resolve("docs/examples/consumer");
    private static final Path EXAMPLE = CONSUMER.resolve("src/main/java/dev/tidewire/examples/ReadmeExample.java");

    @Test
    void theUsageBlockIsTheExamplesCode() throws IOException {
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        List<String> usage = block(readme, "## Usage", "```java");
        List<String> example = Files.readAllLines(EXAMPLE);
        int begin = example.indexOf("// README:begin");
        int end = example.indexOf("// README:end");
        assertTrue(begin >= 0 && end > begin, () -> EXAMPLE + " marks the README's code with // README:begin and // README:end");
        assertEquals(normalised(example.subList(begin + 1, end)), normalised(usage),
                "README.md's usage code must be the code between the markers of " + EXAMPLE
                        + " (copy it over after changing either)");
    }

    @Test
    void theOutputShownIsWhatTheExampleTestExpects() throws IOException {
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        List<String> shown = block(readme, "It prints:", "```");
        List<String> expected = Files.readAllLines(CONSUMER.resolve("src/test/resources/readme-output.txt"));
        assertEquals(normalised(expected), normalised(shown));
    }

    @Test
    void theCoordinatesNameThisVersion() throws IOException {
        String version = parentVersion(Files.readString(Path.of("pom.xml")));
        String readme = Files.readString(ROOT.resolve("README.md"));
        assertTrue(readme.contains("<artifactId>tidewire-sdk</artifactId>\n  <version>" + version + "</version>"),
                "README's Maven dependency names version " + version);
        assertTrue(readme.contains("\"dev.tidewire:tidewire-sdk:" + version + "\""), "README's Gradle line names " + version);
        String consumer = Files.readString(CONSUMER.resolve("pom.xml"));
        assertTrue(consumer.matches("(?s).*<artifactId>tidewire-sdk</artifactId>\\s*<version>" + Pattern.quote(version)
                + "</version>.*"), "the consumer example depends on tidewire-sdk " + version);
    }

    /** The lines of the first fenced block that opens with {@code fence} after the line starting with {@code after}. */
    private static List<String> block(List<String> lines, String after, String fence) {
        int i = 0;
        while (i < lines.size() && !lines.get(i).startsWith(after)) {
            i++;
        }
        while (i < lines.size() && !lines.get(i).equals(fence)) {
            i++;
        }
        assertTrue(i < lines.size(), () -> "README.md has a " + fence + " block after '" + after + "'");
        List<String> out = new ArrayList<>();
        for (i++; i < lines.size() && !lines.get(i).equals("```"); i++) {
            out.add(lines.get(i));
        }
        return out;
    }

    /** Without trailing blanks, leading and trailing empty lines, and the indentation common to every line. */
    private static String normalised(List<String> lines) {
        List<String> l = new ArrayList<>(lines.stream().map(String::stripTrailing).toList());
        while (!l.isEmpty() && l.get(0).isEmpty()) {
            l.remove(0);
        }
        while (!l.isEmpty() && l.get(l.size() - 1).isEmpty()) {
            l.remove(l.size() - 1);
        }
        int indent = l.stream().filter(s -> !s.isEmpty()).mapToInt(s -> s.length() - s.stripLeading().length()).min()
                .orElse(0);
        return String.join("\n", l.stream().map(s -> s.isEmpty() ? s : s.substring(indent)).toList());
    }

    private static String parentVersion(String pom) {
        Matcher m = Pattern.compile("(?s)<parent>.*?<version>([^<]+)</version>.*?</parent>").matcher(pom);
        assertTrue(m.find(), "the sdk pom names its parent's version");
        return m.group(1).strip();
    }
}
