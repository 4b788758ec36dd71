package dev.tidewire.tool.load;

import java.io.PrintStream;

/** Where a run's once-a-second progress line goes. */
public interface Progress {
    /** Discards progress. */
    Progress NONE = new Progress() {
        @Override
        public void line(String text) {
        }

        @Override
        public void end() {
        }
    };

    /** Shows the latest progress line. */
    void line(String text);

    /** The run is over: leaves the output at the start of a fresh line. */
    void end();

    /**
     * On a terminal ({@code live}) each line overwrites the previous one with {@code \r}; otherwise
     * each is printed on its own line.
     */
    static Progress to(PrintStream out, boolean live) {
        if (!live) {
            return new Progress() {
                @Override
                public void line(String text) {
                    out.println(text);
                }

                @Override
                public void end() {
                }
            };
        }
        return new Progress() {
            private int width;
            private boolean open;

            @Override
            public void line(String text) {
                String padded = text.length() < width ? text + " ".repeat(width - text.length()) : text;
                width = text.length();
                out.print("\r" + padded);
                out.flush();
                open = true;
            }

            @Override
            public void end() {
                if (open) {
                    out.print("\r" + " ".repeat(width) + "\r");
                    out.flush();
                    open = false;
                    width = 0;
                }
            }
        };
    }
}
