#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/os/AtomicFile.h"
#include "rotator/os/TrustedPath.h"
#include "support/OtherUser.h"
#include "support/SystemProbes.h"
#include "support/TempDir.h"

using rotator::os::modeText;
using rotator::os::openPrivateFile;
using rotator::os::openTrustedDirectory;
using rotator::os::openTrustedInput;
using rotator::os::privateEntryProblem;
using rotator::os::TrustRules;
using rotator::os::writeFileAtomically;
using rotator::os::WriteOptions;
using rotator::test::kNeedsRoot;
using rotator::test::kOtherUid;
using rotator::test::listDir;
using rotator::test::lstatOf;
using rotator::test::readFile;
using rotator::test::runAsOtherUser;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// A temporary directory others may enter (as /srv is), with `mkdir` for the layout below it.
class Tree
{
public:
    Tree() { EXPECT_EQ(::chmod(_dir.path().c_str(), 0755), 0); }

    std::string mkdir(const std::string& name, mode_t mode = 0755, uid_t owner = ::geteuid())
    {
        const std::string path = _dir.file(name);
        EXPECT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
        EXPECT_EQ(::chown(path.c_str(), owner, static_cast<gid_t>(-1)), 0) << path;
        EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
        return path;
    }
    std::string file(const std::string& name) const { return _dir.file(name); }

private:
    TempDir _dir;
};

} // namespace

// The attack of issue 13: the app user owns /srv/app and swaps /srv/app/conf for a link to a
// directory of its choosing; a root rotator must not write (nor chown, nor chmod) there.
TEST(TrustedPath, AConsumerOwningADirectoryCannotRedirectTheWriteThroughALink)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << kNeedsRoot;
    }
    Tree tree;
    const std::string app = tree.mkdir("app", 0755, kOtherUid);
    const std::string conf = tree.mkdir("app/conf", 0755, kOtherUid);
    const std::string victim = tree.mkdir("victim");
    WriteOptions options;
    options.trustedDirOwner = kOtherUid; // sinks.S.trustDirOwner = nobody
    ASSERT_TRUE(writeFileAtomically(conf + "/astra.json", "first\n", 0600, options));

    ASSERT_EQ(runAsOtherUser(
                  [&]
                  {
                      return ::rename(conf.c_str(), (app + "/old").c_str()) == 0 &&
                                     ::symlink(victim.c_str(), conf.c_str()) == 0
                                 ? 0
                                 : 1;
                  }),
              0);
    const auto written = writeFileAtomically(conf + "/astra.json", "second\n", 0600, options);
    ASSERT_FALSE(written);
    EXPECT_TRUE(contains(written.error().message, conf + " is a symbolic link"))
        << written.error().message;
    EXPECT_TRUE(listDir(victim).empty());
}

TEST(TrustedPath, RefusesADirectoryAnotherUserOwnsAnywhereOnThePathUnlessItIsTrusted)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << kNeedsRoot;
    }
    Tree tree;
    const std::string app = tree.mkdir("app", 0755, kOtherUid);
    tree.mkdir("app/conf"); // root's, but below a directory nobody owns
    const std::string target = app + "/conf/astra.json";
    WriteOptions options;
    options.trustHint = "or set sinks.app.trustDirOwner";
    const auto refused = writeFileAtomically(target, "x\n", 0600, options);
    ASSERT_FALSE(refused);
    const std::string& message = refused.error().message;
    EXPECT_EQ(refused.error().kind, rotator::core::FailureKind::Permanent);
    EXPECT_TRUE(contains(message, "cannot write " + target + ": directory " + app + " (owner uid " +
                                      std::to_string(kOtherUid)))
        << message;
    EXPECT_TRUE(contains(message, "mode 0755")) << message;
    EXPECT_TRUE(contains(message, "chown root " + app)) << message;
    EXPECT_TRUE(contains(message, "or set sinks.app.trustDirOwner")) << message;
    EXPECT_FALSE(rotator::os::checkFileWritable(target, 0600, options));
    EXPECT_EQ(lstatOf(target).st_ino, 0U);

    options.trustedDirOwner = kOtherUid;
    ASSERT_TRUE(writeFileAtomically(target, "x\n", 0600, options));
    EXPECT_EQ(readFile(target), "x\n");
}

TEST(TrustedPath, RefusesADirectoryItsGroupCanWriteEvenAboveTheLastOne)
{
    Tree tree;
    const std::string shared = tree.mkdir("shared", 0775);
    tree.mkdir("shared/conf");
    const auto refused = writeFileAtomically(shared + "/conf/astra.json", "x\n", 0600);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(contains(refused.error().message,
                         "directory " + shared + " (owner uid " + std::to_string(::geteuid())))
        << refused.error().message;
    EXPECT_TRUE(contains(refused.error().message, "mode 0775) is writable by its group"))
        << refused.error().message;
    EXPECT_TRUE(contains(refused.error().message, "chmod go-w " + shared))
        << refused.error().message;
    EXPECT_TRUE(listDir(shared + "/conf").empty());
}

TEST(TrustedPath, ARootOwnedStickyDirectoryMayOnlyBeAboveTheLastOne)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << kNeedsRoot;
    }
    Tree tree;
    const std::string sticky = tree.mkdir("tmp", 01777);
    tree.mkdir("tmp/own", 0700);
    EXPECT_TRUE(writeFileAtomically(sticky + "/own/astra.json", "x\n", 0600));
    const auto last = writeFileAtomically(sticky + "/astra.json", "x\n", 0600);
    ASSERT_FALSE(last);
    EXPECT_TRUE(contains(last.error().message, "is writable by others")) << last.error().message;

    // Sticky but not root's: its owner may rename whatever lies in it.
    const std::string foreign = tree.mkdir("foreign", 01777, kOtherUid);
    tree.mkdir("foreign/own", 0700);
    const auto owned = writeFileAtomically(foreign + "/own/astra.json", "x\n", 0600);
    ASSERT_FALSE(owned);
    EXPECT_TRUE(contains(owned.error().message, "directory " + foreign + " (owner uid"))
        << owned.error().message;
}

TEST(TrustedPath, OpensADirectoryOnlyThroughRealDirectoriesUnlessLinksAreAllowed)
{
    Tree tree;
    const std::string real = tree.mkdir("real");
    ASSERT_EQ(::symlink("real", tree.file("link").c_str()), 0);
    const auto strict = openTrustedDirectory(tree.file("link") + "/.", TrustRules{});
    ASSERT_FALSE(strict);
    EXPECT_TRUE(contains(strict.error().message, tree.file("link") + " is a symbolic link"))
        << strict.error().message;

    TrustRules links;
    links.followLinks = true;
    const auto followed = openTrustedDirectory(tree.file("link"), links);
    ASSERT_TRUE(followed) << followed.error().message;
    EXPECT_EQ(followed->path, real);
    EXPECT_EQ(followed->st.st_ino, lstatOf(real).st_ino);

    const auto missing = openTrustedDirectory(tree.file("none/deeper"), TrustRules{});
    ASSERT_FALSE(missing);
    EXPECT_TRUE(contains(missing.error().message, tree.file("none") + " does not exist"))
        << missing.error().message;
}

TEST(TrustedPath, AnInputMustBelongToRootOrUsAndBeWritableByNobodyElse)
{
    Tree tree;
    tree.mkdir("etc");
    writeFile(tree.file("etc/hook"), "#!/bin/sh\n", 0755);
    ASSERT_TRUE(openTrustedInput(tree.file("etc/hook"), false));

    ASSERT_EQ(::chmod(tree.file("etc/hook").c_str(), 0775), 0);
    const auto writable = openTrustedInput(tree.file("etc/hook"), false);
    ASSERT_FALSE(writable);
    EXPECT_TRUE(contains(writable.error().message, "mode 0775) is writable by its group"))
        << writable.error().message;
    EXPECT_TRUE(contains(writable.error().message, "chmod go-w " + tree.file("etc/hook")))
        << writable.error().message;

    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chmod(tree.file("etc/hook").c_str(), 0755), 0);
        ASSERT_EQ(::chown(tree.file("etc/hook").c_str(), kOtherUid, 0), 0);
        const auto foreign = openTrustedInput(tree.file("etc/hook"), false);
        ASSERT_FALSE(foreign);
        EXPECT_TRUE(contains(foreign.error().message, "belongs to a user the rotator does not"))
            << foreign.error().message;
    }
}

// A Kubernetes volume mounts files through links; following them is fine as long as each
// link lies in a trusted directory, and in a sticky one belongs to root or us.
TEST(TrustedPath, AnInputIsFollowedThroughLinksButNotThroughOneAnotherUserPutInASharedDirectory)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << kNeedsRoot;
    }
    Tree tree;
    const std::string sticky = tree.mkdir("tmp", 01777);
    tree.mkdir("etc");
    writeFile(tree.file("etc/real.pem"), "pem\n", 0644);
    ASSERT_EQ(::symlink(tree.file("etc/real.pem").c_str(), (sticky + "/ours.pem").c_str()), 0);
    const auto ours = openTrustedInput(sticky + "/ours.pem", true);
    ASSERT_TRUE(ours) << ours.error().message;
    EXPECT_EQ(ours->st.st_ino, lstatOf(tree.file("etc/real.pem")).st_ino);

    ASSERT_EQ(runAsOtherUser(
                  [&] {
                      return ::symlink(tree.file("etc/real.pem").c_str(),
                                       (sticky + "/theirs.pem").c_str());
                  }),
              0);
    const auto theirs = openTrustedInput(sticky + "/theirs.pem", true);
    ASSERT_FALSE(theirs);
    EXPECT_TRUE(contains(theirs.error().message, "symbolic link " + sticky + "/theirs.pem"))
        << theirs.error().message;
    EXPECT_TRUE(contains(theirs.error().message, "uid " + std::to_string(kOtherUid)))
        << theirs.error().message;
}

TEST(TrustedPath, APrivateEntryMustBeOursNotALinkAndWritableByNobodyElse)
{
    TempDir dir;
    writeFile(dir.file("db"), "", 0600);
    EXPECT_FALSE(privateEntryProblem("database file", dir.file("db"), lstatOf(dir.file("db"))));

    ASSERT_EQ(::chmod(dir.file("db").c_str(), 0620), 0);
    const auto writable =
        privateEntryProblem("database file", dir.file("db"), lstatOf(dir.file("db")));
    ASSERT_TRUE(writable);
    EXPECT_TRUE(contains(*writable, "database file " + dir.file("db") + " (owner uid"))
        << *writable;
    EXPECT_TRUE(contains(*writable, "mode 0620) is writable by its group")) << *writable;

    ASSERT_EQ(::symlink("db", dir.file("link").c_str()), 0);
    const auto link =
        privateEntryProblem("database file", dir.file("link"), lstatOf(dir.file("link")));
    ASSERT_TRUE(link);
    EXPECT_TRUE(contains(*link, "is a symbolic link")) << *link;

    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chmod(dir.file("db").c_str(), 0600), 0);
        ASSERT_EQ(::chown(dir.file("db").c_str(), kOtherUid, kOtherUid), 0);
        const auto foreign =
            privateEntryProblem("database file", dir.file("db"), lstatOf(dir.file("db")));
        ASSERT_TRUE(foreign);
        EXPECT_TRUE(contains(*foreign, "does not belong to the rotator's user")) << *foreign;
        EXPECT_TRUE(contains(*foreign, "remove it")) << *foreign;
    }
}

// openPrivateFile judges what it opened: a link (at a file, or at a directory where O_DIRECTORY
// makes the open fail with ENOTDIR) is named as one, a FIFO is neither waited on nor taken, a
// file with a second name is refused, and a missing one keeps its errno.
TEST(TrustedPath, OpenPrivateFileTakesOnlyARegularFileOrDirectoryOfOurOwn)
{
    TempDir dir;
    const auto open = [&](const std::string& name, int flags)
    { return openPrivateFile(AT_FDCWD, dir.file(name), flags, 0600, "entry", dir.file(name)); };

    const auto created = open("new", O_WRONLY | O_CREAT);
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_TRUE(S_ISREG(created->st.st_mode));
    EXPECT_EQ(created->st.st_mode & 0777, 0600U);
    ASSERT_EQ(::mkdir(dir.file("sub").c_str(), 0700), 0);
    EXPECT_TRUE(open("sub", O_RDONLY | O_DIRECTORY));

    ASSERT_EQ(::symlink("new", dir.file("file-link").c_str()), 0);
    ASSERT_EQ(::symlink("sub", dir.file("dir-link").c_str()), 0);
    for (const auto& [name, flags] :
         {std::pair{"file-link", O_RDONLY}, std::pair{"dir-link", O_RDONLY | O_DIRECTORY}})
    {
        const auto link = open(name, flags);
        ASSERT_FALSE(link) << name;
        EXPECT_EQ(link.error().error, 0) << name;
        EXPECT_TRUE(
            contains(link.error().message, "entry " + dir.file(name) + " is a symbolic link"))
            << link.error().message;
    }

    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
    const auto fifo = open("fifo", O_RDONLY);
    ASSERT_FALSE(fifo);
    EXPECT_TRUE(contains(fifo.error().message, "is not a regular file")) << fifo.error().message;

    ASSERT_EQ(::link(dir.file("new").c_str(), dir.file("second").c_str()), 0);
    const auto linked = open("new", O_RDONLY);
    ASSERT_FALSE(linked);
    EXPECT_TRUE(contains(linked.error().message, "has 2 hard links")) << linked.error().message;

    const auto missing = open("missing", O_RDONLY);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().error, ENOENT);
}

// One formatter for every mode in a message: as chmod takes it, file type bits dropped.
TEST(TrustedPath, ModeTextIsTheOctalModeChmodTakes)
{
    EXPECT_EQ(modeText(0600), "0600");
    EXPECT_EQ(modeText(S_IFREG | 0640), "0640");
    EXPECT_EQ(modeText(04600), "04600");
    EXPECT_EQ(modeText(S_IFDIR | 01777), "01777");
}
